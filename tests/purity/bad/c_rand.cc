int r = rand();
