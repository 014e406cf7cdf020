"""Local news webs served on 127.0.0.1: the demo's sample sites and the generated webs of tests and benches."""
