# cython: language_level=3
# Decimal digits of integers and floats, written into char buffers: shared
# inline C (each module that cimports this compiles its own copy, so the
# serializer's hot loop keeps them inlined).
#
# How this works: integers go out two digits at a time from a 200-byte table
# ("00".."99"), eight then four digits per round (write_decimal, _utoa). A
# float is written as orjson writes it (its shortest round-trip form, Python's
# repr rules for exponents) when it has at most 15 significant digits: the
# smallest d with x * 10**d integral and below 10**15 is found (d = 1..3
# tried first, then _long_decimal from the binary exponent) and checked by
# one division; _format_float returns -1 for the rest, which the serializer
# hands to orjson.
from libc.math cimport isfinite, signbit
from libc.string cimport memcpy

cdef extern from *:
    """
    static const char fc_digits[201] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    /* 10**d, exact as doubles up to d = 22. */
    static const double fc_p10[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
        1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    """
    const char fc_digits[201]
    const double fc_p10[23]


cdef inline int _ndigits(unsigned long long v) noexcept nogil:
    cdef int n = 1
    while True:
        if v < 10:
            return n
        if v < 100:
            return n + 1
        if v < 1000:
            return n + 2
        if v < 10000:
            return n + 3
        v //= 10000
        n += 4


cdef inline void _put4(unsigned long long v, char* out) noexcept nogil:
    """The 4 digits of v < 10000 (with leading zeros) at out."""
    cdef unsigned long long hi = v // 100
    memcpy(out, fc_digits + 2 * hi, 2)
    memcpy(out + 2, fc_digits + 2 * (v - hi * 100), 2)


cdef inline void _digits_before(unsigned long long v, char* end) noexcept nogil:
    """Writes v in decimal so that its last digit is just before `end`.
    Eight, then four digits per round: the halves of a round are independent."""
    cdef unsigned long long q, r
    while v >= 100000000:
        q = v // 100000000
        r = v - q * 100000000
        end -= 8
        _put4(r // 10000, end)
        _put4(r % 10000, end + 4)
        v = q
    if v >= 10000:
        q = v // 10000
        end -= 4
        _put4(v - q * 10000, end)
        v = q
    if v >= 100:
        q = v // 100
        end -= 2
        memcpy(end, fc_digits + 2 * (v - q * 100), 2)
        v = q
    if v >= 10:
        memcpy(end - 2, fc_digits + 2 * v, 2)
    else:
        (end - 1)[0] = <char>(48 + v)


cdef inline int _utoa(unsigned long long v, char* out) noexcept nogil:
    """Writes v in decimal at out; returns the number of digits."""
    cdef int n = _ndigits(v)
    _digits_before(v, out + n)
    return n


cdef inline int write_decimal(unsigned long long v, char* out) noexcept nogil:
    return _utoa(v, out)


cdef inline int _long_decimal(double ax, long long* pm, int* pd) noexcept nogil:
    """m and d with ax == m / 10**d, m at most 15 digits, d smallest; -1 if none.

    d starts as the most fractional digits that keep m below 10**15: ax is in
    [2**(e2-1), 2**e2) (e2 from the IEEE exponent bits; subnormals end up with
    d = 22 and fail the check), so floor(log10(ax)) is est or est + 1. One
    division checks that m / 10**d reads back as ax (else ax needs 16-17
    digits); then m's trailing zeros go, 8, 4, 2 and 1 at a time.
    """
    cdef unsigned long long bits
    cdef int e2, est
    cdef int d
    cdef long long m
    cdef double r
    memcpy(&bits, &ax, 8)
    e2 = <int>((bits >> 52) & 0x7FF) - 1022
    est = <int>((e2 - 1) * 0.30102999566398120 + 1000.0) - 1000
    d = 14 - est
    if d > 22:
        d = 22
    r = ax * fc_p10[d]
    if r >= 1e15:
        d -= 1
        r = ax * fc_p10[d]
    if d < 1:
        return -1
    m = <long long>(r + 0.5)
    if <double>m / fc_p10[d] != ax:
        return -1
    if d > 8 and m % 100000000 == 0:
        m //= 100000000
        d -= 8
    if d > 4 and m % 10000 == 0:
        m //= 10000
        d -= 4
    if d > 2 and m % 100 == 0:
        m //= 100
        d -= 2
    if d > 1 and m % 10 == 0:
        m //= 10
        d -= 1
    pm[0] = m
    pd[0] = d
    return 0


cdef inline Py_ssize_t _format_float(double x, char* out) noexcept nogil:
    """orjson's bytes for x when they are easy to get, else -1.

    orjson writes the shortest digits that read back as x, in fixed notation
    for 1e-5 <= |x| < 1e16 (".0" after whole numbers) and as ``1.5e-7`` /
    ``1e+16`` otherwise. Handled here: integral |x| < 2**53 (the digits are the
    integer's) and values equal to m / 10**d with m <= 10**15. A decimal of at
    most 15 significant digits is the only one of its length that reads back
    as x (DBL_DIG), and m / 10**d with both exact doubles is correctly rounded,
    so m / 10**d == x at the smallest such d is exactly the shortest
    round-trip digit string. d = 1..3 are tried first, then _long_decimal.
    """
    # HOT PATH: bench/test_bench_serialize.py ("serialize: compiled").
    cdef char* p = out
    cdef double ax = x
    cdef double r
    cdef long long m
    cdef int d = 0
    cdef int n, e, k
    if not isfinite(x):
        memcpy(out, b"null", 4)
        return 4
    if signbit(x):
        p[0] = b"-"
        p += 1
        ax = -x
    if ax >= 1e15:                     # whole numbers from here to 2**53, else orjson
        if ax < 9007199254740992.0 and ax == <double>(<long long>ax):
            p += _utoa(<unsigned long long>ax, p)
            memcpy(p, b".0", 2)
            return p + 2 - out
        return -1
    m = <long long>ax
    if <double>m != ax:
        # Few fractional digits (prices) are found by trying d = 1, 2, 3; the
        # divisions are independent, so they overlap.
        d = 1
        while d <= 3:
            r = ax * fc_p10[d]
            if r >= 1e15:
                return -1
            m = <long long>(r + 0.5)
            if <double>m / fc_p10[d] == ax:
                break
            d += 1
        if d > 3 and _long_decimal(ax, &m, &d) < 0:
            return -1
    if d == 0:                         # a whole number: 43251.0
        p += _utoa(<unsigned long long>m, p)
        memcpy(p, b".0", 2)
        return p + 2 - out
    n = _ndigits(<unsigned long long>m)
    e = n - 1 - d                      # x = D.DDD * 10**e
    if e >= 0:                         # 43250.75: the d last digits after the point
        p += n + 1
        for k in range(d):
            (p - 1 - k)[0] = <char>(48 + m % 10)
            m //= 10
        (p - 1 - d)[0] = b"."
        _digits_before(<unsigned long long>m, p - 1 - d)
    elif e >= -5:                      # 0.00001234
        memcpy(p, b"0.0000", 2 + d - n)
        p += 2 + d - n
        p += _utoa(<unsigned long long>m, p)
    else:                              # 1.5e-7
        _digits_before(<unsigned long long>m, p + n + 1)
        p[0] = p[1]
        if n > 1:
            p[1] = b"."
            p += n + 1
        else:
            p += 1
        memcpy(p, b"e-", 2)
        p += 2 + _utoa(<unsigned long long>(-e), p + 2)
    return p - out
