# src/routing/ fragment: the immutable snapshot and its builder, bucket
# access, and key placement and admission as pure code, added to
# src/libmoxi.a.
src_libmoxi_a_SOURCES += \
	src/routing/snapshot.cc src/routing/snapshot.h \
	src/routing/bucket_access.cc src/routing/bucket_access.h \
	src/routing/down_policy.cc src/routing/down_policy.h \
	src/routing/key_router.cc src/routing/key_router.h \
	src/routing/admission.h
