# t/ build fragment: the shared CppUnit runner and support code, then one test
# binary per module (each fragment below adds its own).
noinst_LIBRARIES += t/libtestsupport.a
t_libtestsupport_a_SOURCES = \
	t/support/test_main.cc \
	t/support/tsv.cc t/support/tsv.h \
	t/support/deadline.h \
	t/support/temp_dir.cc t/support/temp_dir.h \
	t/support/process.cc t/support/process.h \
	t/support/port_file.cc t/support/port_file.h \
	t/support/servers.cc t/support/servers.h \
	t/support/client.cc t/support/client.h t/support/bytes.h \
	t/support/rest_mock.cc t/support/rest_mock.h \
	t/support/vbucket_server.cc t/support/vbucket_server.h \
	t/support/oracle.cc t/support/oracle.h \
	t/support/sasl_memcached.cc t/support/sasl_memcached.h \
	t/support/dns_server.cc t/support/dns_server.h \
	t/support/tls_files.cc t/support/tls_files.h
# oracle.cc (where keys belong, computed with zlib and libmemcached, not
# with moxi's vbucket library) is used by vbucket_server.cc and the routing
# tests: a binary that uses either links $(ZLIB_LIBS) and $(LIBMEMCACHED_LIBS);
# the others never pull its object out of the archive.
# servers.cc needs MOXI_BUILDDIR (where src/moxi is built), so the library
# uses the same flags as the test binaries. rest_mock.cc speaks HTTP through
# libcurl: binaries that use it add $(LIBCURL_LIBS) (its header keeps curl out).
# vbucket_server.cc does SCRAM with OpenSSL: binaries that use VBucketServer
# add $(LIBCRYPTO_LIBS).
t_libtestsupport_a_CPPFLAGS = $(TEST_SUPPORT_CPPFLAGS) $(LIBCURL_CFLAGS) $(ZLIB_CFLAGS) $(LIBMEMCACHED_CFLAGS) $(LIBCRYPTO_CFLAGS)

TEST_SUPPORT_CPPFLAGS = $(AM_CPPFLAGS) -DMOXI_SRCDIR='"$(abs_top_srcdir)"' -DMOXI_BUILDDIR='"$(abs_top_builddir)"' $(CPPUNIT_CFLAGS)

include t/vbucket.mk
include t/protocol.mk
include t/proxy.mk
include t/conflate.mk
include t/options.mk
include t/harness.mk
include t/restmock.mk
include t/fakebackend.mk
include t/stats.mk
include t/core.mk
include t/diff.mk

# The reference fixtures (their README.md says where each came from), the
# fuzz targets with their seeds and reproducers, and the TSan runner.
EXTRA_DIST += t/fixtures t/fuzz t/tsan

# Every shell example of README, rest_mock/README.md and the man page's
# EXAMPLES, run against memcached and rest_mock on free loopback ports.
TESTS += t/doc_examples
EXTRA_DIST += t/doc_examples

# Run by script/test after make check: the release tarball (make distcheck)
# and the Debian package built from it, installed, run and purged.
EXTRA_DIST += t/dist/run t/package/run

# t/mutate/run finds test blind spots (one-line mutants); run by hand, not by make check.
EXTRA_DIST += t/mutate/run t/mutate/mutants.txt

# The layering check: includes run down the layer order (t/layering_check
# names the layers; t/layering/known.txt the upward ones still to remove).
TESTS += t/layering_check
EXTRA_DIST += t/layering_check t/layering/known.txt

# The link check: every relative link and every file of the tree named in
# README, the manual pages and the *.md files exists; no absolute path of
# one machine, no issue number.
TESTS += t/link_check
EXTRA_DIST += t/link_check

# Every SERVER_ERROR text of the sources has a row in README's
# Troubleshooting table, and every row a text.
TESTS += t/troubleshooting_check
EXTRA_DIST += t/troubleshooting_check
