std::random_device seed_source;
