from rnnstudy.cli import main

main()
