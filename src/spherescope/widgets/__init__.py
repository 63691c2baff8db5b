"""Qt widgets: docks, dialogs and the main window. They read and write state, never models."""
