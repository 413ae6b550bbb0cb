"""Float tolerances shared by the tests, so that no assertion depends on one machine's rounding.

fp32 scores of the same text move with batch composition (padding width), torch thread count
and the CPU's kernels; differences of a few 1e-6 were seen between machines. Labels are always
compared exactly; scores within these bounds.
"""

#: two predictions of the same text by the same model
SCORE_ATOL = 1e-4
#: a score pinned in a test (written rounded to two or three decimals)
PINNED_ATOL = 5e-3
