package main

import (
	"fmt"
	"runtime/debug"
)

// version says which vend this is: the module version (a tag when installed
// with go install …@v1.2.3, "(devel)" when built from a checkout), and the
// commit and its date that go build stamps from git. Reading the build info
// needs no -ldflags, so every way of building vend reports it. The date is the
// commit's: go build records no build time, so the same commit builds the same
// binary.
func version(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "vend unknown (no build information)\n"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	commit, date, modified := "unknown", "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.time":
			date = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified {
		// Built from a checkout with uncommitted changes: the commit alone
		// does not say what runs.
		commit += " (modified)"
	}
	return fmt.Sprintf("vend %s\ncommit %s\ndate   %s\ngo     %s\n", v, commit, date, info.GoVersion)
}
