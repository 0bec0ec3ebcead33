void greet(const char *version);
