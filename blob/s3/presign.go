package s3

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vend-shop/vend/blob"
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
	if !blob.ValidKey(key) {
		return "", errNotFound()
	}
	if ttl < time.Second || ttl > MaxPresignTTL {
		return "", fmt.Errorf("s3 storage: presign %s: lifetime %v is not between 1s and %v", key, ttl, MaxPresignTTL)
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket:                     &s.bucket,
		Key:                        aws.String(s.prefix + key),
		ResponseContentDisposition: aws.String(blob.Attachment(filename)),
		ResponseContentType:        aws.String(blob.ContentType(filename)),
	}, s3.WithPresignExpires(ttl.Truncate(time.Second)))
	if err != nil {
		return "", fmt.Errorf("s3 storage: presign %s: %w", key, err)
	}
	return req.URL, nil
}
