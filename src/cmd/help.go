package main

import _ "embed" // the long help texts

// The long help of the commands, kept as text.
var (
	//go:embed help/root.txt
	rootUsage string
	//go:embed help/history.txt
	historyLong string
	//go:embed help/incident.txt
	incidentLong string
	//go:embed help/serve.txt
	serveLong string
	//go:embed help/storecopy.txt
	storeCopyLong string
)
