"""The four screens, the help screen and the modal dialogs."""
