package servicetest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// NginxServer is Debian's nginx, started by a test with a private configuration on a
// loopback port, in front of a test server the way docs/deploy.md puts it in front
// of vend.
type NginxServer struct {
	URL string // http://127.0.0.1:<port>, no trailing slash
	dir string
}

// nginxConf is the configuration of docs/deploy.md, cut down to loopback and with
// every path inside the test's directory. X-Test-Slow: 1 throttles a transfer to
// about 1 MiB/s, so that a test can interrupt one.
var nginxConf = template.Must(template.New("nginx.conf").Parse(`
{{with .User}}user {{.}};{{end}}
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
events { worker_connections 512; }
http {
	# The access log of docs/deploy.md: paths of download links carry tokens.
	map $uri $vend_log_path {
		~^/d/   /d/…;
		default $uri;
	}
	log_format vend '$remote_addr [$time_local] "$request_method $vend_log_path" $status $body_bytes_sent $request_time';
	access_log {{.Dir}}/access.log vend;
	client_body_temp_path {{.Dir}}/client_body;
	proxy_temp_path {{.Dir}}/proxy;
	fastcgi_temp_path {{.Dir}}/fastcgi;
	uwsgi_temp_path {{.Dir}}/uwsgi;
	scgi_temp_path {{.Dir}}/scgi;
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush off;

	map $http_x_test_slow $test_rate { default 0; "1" 1m; }

	upstream vend {
		server {{.Upstream}};
		keepalive 16;
	}
	server {
		listen 127.0.0.1:{{.Port}};
		client_max_body_size 1m;
		location / {
			proxy_pass http://vend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $host;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto $scheme;
			proxy_buffering off;
		}
		location {{.Prefix}} {
			internal;
			alias {{.Storage}}/;
			etag off;
			add_header ETag $upstream_http_etag;
			add_header X-Content-Type-Options $upstream_http_x_content_type_options;
			limit_rate $test_rate;
		}
	}
}
`))

// MustStartNginx starts nginx proxying to upstream (a URL) with the internal
// location prefix aliased to storage, and stops it when the test ends. Its
// workers run as user when one is given; else as root when the test runs
// as root (so they read the test's files), else as the test's user.
func MustStartNginx(t *testing.T, upstream, prefix, storage, user string) *NginxServer {
	t.Helper()
	bin := Nginx.Need(t)
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The port is free when asked, and rarely taken by the time nginx binds it;
	// if it is, another one is tried.
	for try := 0; ; try++ {
		port := FreePort(t)
		var conf bytes.Buffer
		err := nginxConf.Execute(&conf, map[string]any{
			"User": nginxUser(user), "Dir": dir, "Upstream": u.Host, "Port": port,
			"Prefix": prefix, "Storage": strings.TrimSuffix(storage, "/"),
		})
		if err != nil {
			t.Fatal(err)
		}
		confPath := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(confPath, conf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		n := &NginxServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir}
		err = n.start(t, bin, confPath, port)
		if err == nil {
			return n
		}
		if try == 2 || !strings.Contains(err.Error(), "Address already in use") {
			t.Fatalf("nginx: %v", err)
		}
	}
}

func (n *NginxServer) start(t *testing.T, bin, confPath string, port int) error {
	t.Helper()
	// -e: the error log before the configuration is read, which would otherwise
	// be the system's; -p: the prefix relative paths would resolve against.
	cmd := exec.Command(bin, "-p", n.dir, "-e", filepath.Join(n.dir, "error.log"), "-c", confPath, "-g", "daemon off;")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("exited at start (%v): %s%s", err, out.Bytes(), n.errorLog())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("not listening on %s after 5s: %s%s", addr, out.Bytes(), n.errorLog())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT) // graceful: the master stops its worker
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("nginx error log:\n%s", n.errorLog())
		}
	})
	return nil
}

func (n *NginxServer) errorLog() string {
	b, err := os.ReadFile(filepath.Join(n.dir, "error.log"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err.Error()
	}
	return string(b)
}

// nginxUser is the user directive's value: user, else root for a test run
// as root, else none.
func nginxUser(user string) string {
	if user == "" && os.Geteuid() == 0 {
		return "root"
	}
	return user
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// AccessLog is the path of nginx's access log.
func (n *NginxServer) AccessLog() string { return filepath.Join(n.dir, "access.log") }
