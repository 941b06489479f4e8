std::uniform_int_distribution<int> d(1, 6);
