long f() { return random(); }
