"""The grouping stage after store: copies (``duplicate_of``) and stories across countries.

    stored article ──▶ copies.py    MinHash over the original text's shingles, LSH bands in Postgres
                   └─▶ features.py  weighted terms of the English title and lead (rare words, names,
                                    numbers count most; word weights from wordfreq)
                   └─▶ stories.py   join the best-matching story active in the window, or open one;
                                    one transaction under one advisory lock, so any number of
                                    workers group as one would
"""
