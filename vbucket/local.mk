# vbucket/ build fragment (included by the top-level Makefile.am).
# The cluster-map library: parse configs, map keys, diff maps. No libevent,
# no libcurl; libmemcached/libhashkit for the hashes, RapidJSON (headers).
noinst_LIBRARIES += vbucket/libvbucket.a
vbucket_libvbucket_a_SOURCES = \
	vbucket/result.h \
	vbucket/key_hash.cc vbucket/key_hash.h \
	vbucket/ketama.cc vbucket/ketama.h \
	vbucket/config.cc vbucket/config.h
vbucket_libvbucket_a_CPPFLAGS = $(AM_CPPFLAGS) $(LIBMEMCACHED_CFLAGS)

# Link line for anything that uses the library.
VBUCKET_LIBS = vbucket/libvbucket.a $(LIBMEMCACHED_LIBS)

