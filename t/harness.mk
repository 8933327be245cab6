# t/ fragment for the harness tests: the integration-test support library
# (processes, port files, memcached/moxi fixtures, test client) exercised
# against a real memcached.
check_PROGRAMS += t/harness_tests
TESTS += t/harness_tests
t_harness_tests_SOURCES = \
	t/harness/check.h \
	t/harness/binary_codec_test.cc \
	t/harness/process_test.cc \
	t/harness/port_file_test.cc \
	t/harness/memcached_test.cc \
	t/harness/moxi_fixture_test.cc \
	t/harness/oracle_test.cc
t_harness_tests_CPPFLAGS = $(TEST_SUPPORT_CPPFLAGS)
# oracle_test checks t/support/oracle (zlib and libmemcached) on the reference vectors.
t_harness_tests_LDADD = t/libtestsupport.a $(ZLIB_LIBS) $(LIBMEMCACHED_LIBS) $(CPPUNIT_LIBS)
