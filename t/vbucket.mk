# t/ fragment for the vbucket tests: one binary, t/vbucket_tests, driven by
# the reference tables in t/fixtures/ (and running the built vbuckettool).
check_PROGRAMS += t/vbucket_tests
TESTS += t/vbucket_tests
t_vbucket_tests_SOURCES = \
	t/vbucket/fixtures.cc t/vbucket/fixtures.h \
	t/vbucket/hash_test.cc \
	t/vbucket/vectors_test.cc \
	t/vbucket/parse_test.cc \
	t/vbucket/terse_test.cc \
	t/vbucket/static_config_test.cc \
	t/vbucket/ketama_test.cc \
	t/vbucket/nmv_test.cc \
	t/vbucket/diff_test.cc \
	t/vbucket/property_test.cc \
	t/vbucket/concurrency_test.cc \
	t/vbucket/vbuckettool_test.cc
t_vbucket_tests_CPPFLAGS = $(TEST_SUPPORT_CPPFLAGS) $(LIBMEMCACHED_CFLAGS) $(ZLIB_CFLAGS)
t_vbucket_tests_LDADD = t/libtestsupport.a vbucket/libvbucket.a $(LIBMEMCACHED_LIBS) $(ZLIB_LIBS) $(CPPUNIT_LIBS)
# The tool tests run the built binary.
EXTRA_t_vbucket_tests_DEPENDENCIES = vbucket/vbuckettool
