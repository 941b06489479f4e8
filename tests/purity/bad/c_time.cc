long t = time(nullptr);
