"""Tools for tests, benches and the demo that need no ../shared: a tiny CTranslate2 model built in milliseconds."""
