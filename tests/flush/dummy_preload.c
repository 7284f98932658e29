/* dummy_preload.c - stand-in for libebt.so in tests when the client library is not built. */
int ebt_dummy_preload_loaded = 1;
