package websale

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// keySize is AES-256's key length, the one thing WEBSALE does document.
const keySize = 32

const (
	gcmNonceSize = 12
	gcmTagSize   = 16
)

// deriveKey turns the password into the AES key. Its errors say what is wrong
// with the password's shape and never quote it: they end up in logs and on the
// command line.
func deriveKey(kdf KDF, password string) ([]byte, error) {
	switch kdf {
	case KDFRaw:
		if len(password) != keySize {
			return nil, fmt.Errorf("websale: key derivation raw needs a password of exactly %d bytes, not %d (raw-padded NUL-pads or truncates it as PHP's openssl_encrypt does)", keySize, len(password))
		}
		return []byte(password), nil
	case KDFRawPadded:
		key := make([]byte, keySize)
		copy(key, password)
		return key, nil
	case KDFSHA256:
		sum := sha256.Sum256([]byte(password))
		return sum[:], nil
	case KDFSHA256Hex32:
		sum := sha256.Sum256([]byte(password))
		return []byte(hex.EncodeToString(sum[:])[:keySize]), nil
	case KDFHexKey:
		// hex's own error would quote the offending character of the password.
		key, err := hex.DecodeString(password)
		if err != nil || len(key) != keySize {
			return nil, fmt.Errorf("websale: key derivation hexkey needs a password of %d hex digits, not %d characters", 2*keySize, len(password))
		}
		return key, nil
	}
	return nil, fmt.Errorf("websale: unknown key derivation %q", kdf)
}

// newBlock derives the key and keeps only the expanded cipher, so no raw key
// bytes stay reachable from a Decoder.
func newBlock(kdf KDF, password string) (cipher.Block, error) {
	key, err := deriveKey(kdf, password)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("websale: key derivation %s: %w", kdf, err)
	}
	return block, nil
}

// decrypt returns the still padded plaintext. The length checks come first
// because they depend only on public data.
func decrypt(block cipher.Block, m Mode, data []byte) ([]byte, *LinkError) {
	switch m {
	case ModeCBCIVPrefix:
		if len(data) < 2*aes.BlockSize || !wholeBlocks(data) {
			return nil, lengthError(len(data), "a 16-byte IV and whole 16-byte blocks")
		}
		return cbcDecrypt(block, data[:aes.BlockSize], data[aes.BlockSize:]), nil
	case ModeCBCZeroIV:
		if len(data) == 0 || !wholeBlocks(data) {
			return nil, lengthError(len(data), "whole 16-byte blocks")
		}
		return cbcDecrypt(block, make([]byte, aes.BlockSize), data), nil
	case ModeECB:
		if len(data) == 0 || !wholeBlocks(data) {
			return nil, lengthError(len(data), "whole 16-byte blocks")
		}
		return ecbCrypt(block.Decrypt, data), nil
	case ModeGCMNonce12:
		return gcmOpen(block, data)
	}
	return nil, rejectf(ReasonLength, "unknown mode %q", m)
}

func lengthError(n int, want string) *LinkError {
	return rejectf(ReasonLength, "the mode needs %s; the data has %d bytes", want, n)
}

func wholeBlocks(b []byte) bool {
	return len(b)%aes.BlockSize == 0
}

func cbcDecrypt(block cipher.Block, iv, ct []byte) []byte {
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ct)
	return out
}

// ecbCrypt runs fn over each block; the standard library has no ECB, rightly.
func ecbCrypt(fn func(dst, src []byte), in []byte) []byte {
	out := make([]byte, len(in))
	for i := 0; i < len(in); i += aes.BlockSize {
		fn(out[i:i+aes.BlockSize], in[i:i+aes.BlockSize])
	}
	return out
}

func gcmOpen(block cipher.Block, data []byte) ([]byte, *LinkError) {
	if len(data) < gcmNonceSize+gcmTagSize {
		return nil, lengthError(len(data), "a 12-byte nonce and a 16-byte tag")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, rejectf(ReasonAuth, "%v", err)
	}
	pt, err := aead.Open(nil, data[:gcmNonceSize], data[gcmNonceSize:], nil)
	if err != nil {
		return nil, rejectf(ReasonAuth, "the GCM tag does not match (wrong key, or the link was changed)")
	}
	return pt, nil
}

// encrypt is decrypt's inverse. random supplies the IV or nonce.
func encrypt(block cipher.Block, m Mode, pt []byte, random io.Reader) ([]byte, error) {
	if m != ModeGCMNonce12 && (len(pt) == 0 || !wholeBlocks(pt)) {
		return nil, fmt.Errorf("websale: encrypt: %s needs whole 16-byte blocks, the padded plaintext has %d bytes (padding none fits only such plaintexts)", m, len(pt))
	}
	switch m {
	case ModeCBCIVPrefix:
		iv, err := readRandom(random, aes.BlockSize)
		if err != nil {
			return nil, err
		}
		return append(iv, cbcEncrypt(block, iv, pt)...), nil
	case ModeCBCZeroIV:
		return cbcEncrypt(block, make([]byte, aes.BlockSize), pt), nil
	case ModeECB:
		return ecbCrypt(block.Encrypt, pt), nil
	case ModeGCMNonce12:
		return gcmSeal(block, pt, random)
	}
	return nil, fmt.Errorf("websale: encrypt: unknown mode %q", m)
}

func cbcEncrypt(block cipher.Block, iv, pt []byte) []byte {
	out := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, pt)
	return out
}

func gcmSeal(block cipher.Block, pt []byte, random io.Reader) ([]byte, error) {
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("websale: encrypt: %w", err)
	}
	nonce, err := readRandom(random, gcmNonceSize)
	if err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, pt, nil), nil
}

func readRandom(random io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(random, b); err != nil {
		return nil, fmt.Errorf("websale: encrypt: read IV or nonce: %w", err)
	}
	return b, nil
}

// pad makes pt a whole number of blocks. Zero padding adds nothing to a
// plaintext that already is, as PHP's mcrypt did.
func pad(p Padding, pt []byte) ([]byte, error) {
	out := append([]byte(nil), pt...)
	switch p {
	case PaddingPKCS7:
		n := aes.BlockSize - len(pt)%aes.BlockSize
		for range n {
			out = append(out, byte(n))
		}
	case PaddingZero:
		if len(pt) > 0 && pt[len(pt)-1] == 0 {
			return nil, errors.New("websale: encrypt: zero padding cannot carry a plaintext that ends in NUL")
		}
		for !wholeBlocks(out) {
			out = append(out, 0)
		}
	case PaddingNone:
	default:
		return nil, fmt.Errorf("websale: encrypt: unknown padding %q", p)
	}
	return out, nil
}

// unpad removes the padding and reports whether it was well formed.
func unpad(p Padding, b []byte) ([]byte, bool) {
	switch p {
	case PaddingPKCS7:
		return unpadPKCS7(b)
	case PaddingZero:
		n := len(b)
		for n > 0 && b[n-1] == 0 {
			n--
		}
		return b[:n], true
	case PaddingNone:
		return b, true
	}
	return nil, false
}

// unpadPKCS7 checks all sixteen trailing bytes whatever the count says, in
// constant time, so that the time taken does not tell a prober how far a forged
// block got: the classic CBC padding oracle.
func unpadPKCS7(b []byte) ([]byte, bool) {
	if len(b) < aes.BlockSize || !wholeBlocks(b) {
		return nil, false
	}
	n := int(b[len(b)-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, aes.BlockSize)
	for i := 1; i <= aes.BlockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, n)
		same := subtle.ConstantTimeByteEq(b[len(b)-i], byte(n))
		good &= (1 - inPad) | same
	}
	if good != 1 {
		return nil, false
	}
	return b[:len(b)-n], true
}
