"""`python -m scheduler` is the `factpost` command."""

from scheduler.cli import main

main()
