package s3

import (
	"context"
	"fmt"
	"mime"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MaxPresignTTL is the longest a presigned URL can live (a limit of Signature V4).
const MaxPresignTTL = 7 * 24 * time.Hour

// PresignGet returns a URL that fetches the object under key without credentials
// until ttl has passed (counted in whole seconds, at least one). The response
// carries Content-Disposition: attachment with filename, and a Content-Type
// guessed from its extension; the bucket's server answers Range and If-Range
// itself. No request is sent: a URL for a missing object answers 404 when used.
//
// With temporary credentials (an instance role, AWS_SESSION_TOKEN) the URL stops
// working when they expire, even before ttl.
func (s *Store) PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	if !validKey(key) {
		return "", errNotFound()
	}
	if ttl < time.Second || ttl > MaxPresignTTL {
		return "", fmt.Errorf("s3 storage: presign %s: lifetime %v is not between 1s and %v", key, ttl, MaxPresignTTL)
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket:                     &s.bucket,
		Key:                        aws.String(s.prefix + key),
		ResponseContentDisposition: aws.String(attachment(filename)),
		ResponseContentType:        aws.String(contentType(filename)),
	}, s3.WithPresignExpires(ttl.Truncate(time.Second)))
	if err != nil {
		return "", fmt.Errorf("s3 storage: presign %s: %w", key, err)
	}
	return req.URL, nil
}

// attachment builds a Content-Disposition that every browser saves under the right
// name: an ASCII fallback plus the RFC 6266 / RFC 5987 UTF-8 form. Control
// characters are replaced in both, so that no client saves a name with a line break.
// It is the same header delivery sets when it serves a file itself.
func attachment(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, name)
	var ascii strings.Builder
	for _, r := range name {
		if r >= 0x80 || r == '"' || r == '\\' || r == '%' {
			r = '_'
		}
		ascii.WriteRune(r)
	}
	v := `attachment; filename="` + ascii.String() + `"`
	if ascii.String() != name {
		v += "; filename*=UTF-8''" + extValue(name)
	}
	return v
}

// extValue percent-encodes s as an RFC 5987 value: only attr-chars stay as they are.
func extValue(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func contentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}
