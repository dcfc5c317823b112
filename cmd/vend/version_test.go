package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	build := func(version string, settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{GoVersion: "go1.25.0", Main: debug.Module{Path: "github.com/vend-shop/vend", Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	tests := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want []string
	}{
		{"a tagged release", build("v1.4.0", "vcs.revision", "0123abcd", "vcs.time", "2026-03-01T10:00:00Z", "vcs.modified", "false"), true,
			[]string{"vend v1.4.0\n", "commit 0123abcd\n", "date   2026-03-01T10:00:00Z\n", "go     go1.25.0\n"}},
		{"a checkout with changes", build("(devel)", "vcs.revision", "0123abcd", "vcs.modified", "true"), true,
			[]string{"vend (devel)\n", "commit 0123abcd (modified)\n", "date   unknown\n"}},
		{"no vcs stamp (go run, a tarball)", build(""), true, []string{"vend (devel)\n", "commit unknown\n"}},
		{"no build information", nil, false, []string{"vend unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := version(tt.info, tt.ok)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("version() = %q, want it to contain %q", got, w)
				}
			}
		})
	}
}

func TestMain_Version(t *testing.T) {
	t.Parallel()
	out := mustVend(t, nil, "--version")
	if !strings.HasPrefix(out, "vend ") || !strings.Contains(out, "\ncommit ") || !strings.Contains(out, "\ngo     go") {
		t.Errorf("vend --version:\n%s", out)
	}
}
