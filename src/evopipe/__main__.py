from evopipe.cli import main

main()
