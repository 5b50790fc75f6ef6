"""`python -m streamscore.deploy` is the `streamscore` command."""

from streamscore.deploy.cli import main

main()
