from punchclock.cli import main

main()
