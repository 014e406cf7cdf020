"""Helpers for every test tier: the ../shared lookup, real ``transcrawl`` processes, small local sites.

Test modules import helpers from here, never from each other; fixtures stay in the conftest files.
"""
