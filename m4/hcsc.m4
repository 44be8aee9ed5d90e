# HCSC_REQUIRE_PKG(VARIABLE-PREFIX, PKG-SPEC, DEBIAN-PACKAGE)
# ----------------------------------------------------------
# Find a dependency through pkg-config and stop configure, naming the
# Debian package that provides it, when it is missing.
AC_DEFUN([HCSC_REQUIRE_PKG], [
  PKG_CHECK_MODULES([$1], [$2], [],
    [AC_MSG_ERROR([$2 not found by pkg-config ($$1_PKG_ERRORS).
Install the Debian package $3 (apt-get install $3).])])
])
