auto f = std::async([] { return 1; });
