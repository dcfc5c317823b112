package main

import (
	"strings"
	"testing"
)

// TestConfigCheck_Mailbox: vend config check accepts the development mailbox,
// and only as "mailbox:".
func TestConfigCheck_Mailbox(t *testing.T) {
	t.Parallel()
	env := []string{"VEND_DATA_DIR=" + t.TempDir(), "VEND_SMTP_URL=mailbox:", "VEND_SMTP_FROM=Shop <shop@example.com>"}
	if out := mustVend(t, env, "config", "check"); !strings.Contains(out, "ok") {
		t.Errorf("config check with the mailbox: %s", out)
	}
	env[1] = "VEND_SMTP_URL=mailbox:/var/mail"
	if _, errOut, code := runMain(t, env, "config", "check"); code == 0 || !strings.Contains(errOut, "smtp.url") {
		t.Errorf("mailbox with a path: exit %d %s", code, errOut)
	}
}
