package s3_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/vend-shop/vend/blob/s3/s3test"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vend-shop/vend/blob/s3"
)

// The test server is a real versitygw (pinned to v1.8.0 in .ci/run) with a posix
// backend in a temporary directory. Its binary is VEND_TEST_VERSITYGW or versitygw
// on PATH; without one the tests skip, except under CI=true, where they fail.
const (
	testAccessKey = "vendtestaccess"
	testSecretKey = "vendtestsecret0123456789"
)

// Server is a versitygw behind a proxy that records every request the store sends.
type Server struct {
	// URL is the proxy's address: the endpoint stores are opened with.
	URL string
	// Direct is versitygw's own address, for benchmarks.
	Direct string
	Client *awss3.Client // straight to the proxy, for setting up and looking around

	mu       sync.Mutex
	requests []*http.Request
	buckets  int

	// The next BreakGets object GETs break off after BreakAfter bytes of body.
	BreakGets  atomic.Int32
	BreakAfter atomic.Int64
}

// MustStartServer starts a versitygw for one test and stops it at its end. It
// sets the AWS credential variables the stores' default chain reads.
func MustStartServer(tb testing.TB) *Server {
	tb.Helper()
	addr := s3test.Start(tb, testAccessKey, testSecretKey)

	s := &Server{}
	target := &url.URL{Scheme: "http", Host: addr}
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			s.mu.Lock()
			s.requests = append(s.requests, r.In.Clone(context.Background()))
			s.mu.Unlock()
			r.SetURL(target)
			r.Out.Host = r.In.Host // the signature covers the Host header
		},
		ModifyResponse: func(resp *http.Response) error {
			if isGet(resp.Request) && resp.StatusCode/100 == 2 && s.BreakGets.Add(-1) >= 0 {
				resp.Body = &breakingBody{ReadCloser: resp.Body, left: s.BreakAfter.Load()}
			}
			return nil
		},
		ErrorLog: log.New(io.Discard, "", 0),
	})
	tb.Cleanup(proxy.Close)
	s.URL, s.Direct = proxy.URL, "http://"+addr

	s3test.SetCredentials(tb, testAccessKey, testSecretKey)
	s.Client = awss3.New(awss3.Options{
		BaseEndpoint: aws.String(s.URL),
		UsePathStyle: true,
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, ""),
	})
	return s
}

// MustCreateBucket creates a new, empty bucket and returns its name.
func (s *Server) MustCreateBucket(tb testing.TB) string {
	tb.Helper()
	s.mu.Lock()
	s.buckets++
	name := fmt.Sprintf("vend-test-%d", s.buckets)
	s.mu.Unlock()
	if _, err := s.Client.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: &name}); err != nil {
		tb.Fatalf("create bucket %s: %v", name, err)
	}
	return name
}

// MustOpenStore opens a store on a new, empty bucket, under prefix "files/".
func (s *Server) MustOpenStore(tb testing.TB) (*s3.Store, string) {
	tb.Helper()
	return s.mustOpenStore(tb, s.URL)
}

// MustOpenDirectStore is MustOpenStore without the proxy: for benchmarks.
func (s *Server) MustOpenDirectStore(tb testing.TB) (*s3.Store, string) {
	tb.Helper()
	return s.mustOpenStore(tb, s.Direct)
}

func (s *Server) mustOpenStore(tb testing.TB, endpoint string) (*s3.Store, string) {
	tb.Helper()
	bucket := s.MustCreateBucket(tb)
	st, err := s3.Open(context.Background(), "s3://"+bucket+"/files?endpoint="+url.QueryEscape(endpoint)+"&region=us-east-1")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st, bucket
}

// Keys lists every object in bucket.
func (s *Server) Keys(tb testing.TB, bucket string) []string {
	tb.Helper()
	var keys []string
	p := awss3.NewListObjectsV2Paginator(s.Client, &awss3.ListObjectsV2Input{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			tb.Fatalf("list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, *o.Key)
		}
	}
	return keys
}

// Uploads lists the multipart uploads in progress in bucket.
func (s *Server) Uploads(tb testing.TB, bucket string) []string {
	tb.Helper()
	out, err := s.Client.ListMultipartUploads(context.Background(), &awss3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		tb.Fatalf("list uploads in %s: %v", bucket, err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, *u.Key)
	}
	return keys
}

// Requests returns the requests sent since the last call that match.
func (s *Server) Requests(match func(*http.Request) bool) []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*http.Request
	for _, r := range s.requests {
		if match(r) {
			out = append(out, r)
		}
	}
	s.requests = nil
	return out
}

// Request kinds, told apart as S3 tells them apart.
func isAny(*http.Request) bool { return true }

func isPart(r *http.Request) bool {
	return r.Method == http.MethodPut && r.URL.Query().Has("partNumber") && r.Header.Get("X-Amz-Copy-Source") == ""
}

func isPartCopy(r *http.Request) bool {
	return r.Method == http.MethodPut && r.URL.Query().Has("partNumber") && r.Header.Get("X-Amz-Copy-Source") != ""
}

func isCopy(r *http.Request) bool {
	return r.Method == http.MethodPut && !r.URL.Query().Has("partNumber") && r.Header.Get("X-Amz-Copy-Source") != ""
}

func isGet(r *http.Request) bool {
	return r.Method == http.MethodGet && !r.URL.Query().Has("list-type")
}

func isDelete(r *http.Request) bool {
	return r.Method == http.MethodDelete && !r.URL.Query().Has("uploadId")
}

func describe(reqs []*http.Request) string {
	var b strings.Builder
	for _, r := range reqs {
		fmt.Fprintf(&b, "\n  %s %s range=%q", r.Method, r.URL.RequestURI(), r.Header.Get("Range"))
	}
	return b.String()
}

var errBroken = errors.New("connection reset by uploader")

// breakingBody ends after left bytes, short of the Content-Length the proxy has
// sent: the proxy then closes the connection, as one that drops does.
type breakingBody struct {
	io.ReadCloser
	left int64
}

func (b *breakingBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	n, err := b.ReadCloser.Read(p[:min(int64(len(p)), b.left)])
	b.left -= int64(n)
	return n, err
}
