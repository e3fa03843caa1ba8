"""The live panel: the trial record, its wire format and the anywidget."""
