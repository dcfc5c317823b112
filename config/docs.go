package config

import "strings"

// Markdown renders every key as a Markdown table (key | environment | default |
// meaning) for the README.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| Key | Environment | Default | Meaning |\n")
	b.WriteString("|-----|-------------|---------|---------|\n")
	for _, k := range Keys() {
		def := ""
		if k.Default != "" {
			def = "`" + k.Default + "`"
		}
		b.WriteString("| `" + k.Name + "` | `" + k.Env + "` | " + def + " | " + cell(k.Help) + " |\n")
	}
	return b.String()
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
