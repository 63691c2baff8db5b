from spherescope.cli import main

raise SystemExit(main())
