auto t = std::chrono::steady_clock::now();
