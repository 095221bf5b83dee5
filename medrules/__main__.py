from medrules.cli import main

main()
