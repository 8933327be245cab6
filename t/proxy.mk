# t/ fragment for the proxy tests.
