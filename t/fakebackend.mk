# t/ fragment for the fake vBucket-aware backend (t/support/vbucket_server):
# its commands, vBucket checks, reply gate and lifetime, plus differential
# checks against a real memcached; its Couchbase mode (SASL, buckets).
check_PROGRAMS += t/fakebackend_tests
TESTS += t/fakebackend_tests
t_fakebackend_tests_SOURCES = \
	t/fakebackend/fake_util.h t/fakebackend/fake_util.cc \
	t/fakebackend/commands_test.cc \
	t/fakebackend/vbucket_test.cc \
	t/fakebackend/control_test.cc \
	t/fakebackend/couchbase_test.cc \
	t/fakebackend/differential_test.cc
t_fakebackend_tests_CPPFLAGS = $(TEST_SUPPORT_CPPFLAGS)
t_fakebackend_tests_LDADD = t/libtestsupport.a $(ZLIB_LIBS) $(LIBMEMCACHED_LIBS) $(LIBCRYPTO_LIBS) $(CPPUNIT_LIBS)
