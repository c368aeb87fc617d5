package export

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// dns1123Label makes s a DNS-1123 label (lowercase letters, digits and
// '-', alphanumeric at both ends, 63 at most), the name of a claim, a pod
// volume or a container: letters lowered, other characters '-'. Too long,
// it is cut and ends with a hash of s so that it stays unique.
func dns1123Label(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return shorten(strings.Trim(b.String(), "-"), validation.DNS1123LabelMaxLength, s)
}

// dns1035 is dns1123Label starting with a letter: a Service's name.
func dns1035(s string) string {
	n := dns1123Label(s)
	if n != "" && (n[0] < 'a' || n[0] > 'z') {
		n = dns1123Label("s-" + n)
	}
	return n
}

// dns1123Subdomain makes s a DNS-1123 subdomain (labels joined by '.'),
// the name of a ConfigMap or a Secret.
func dns1123Subdomain(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	parts := strings.Split(b.String(), ".")
	kept := parts[:0]
	for _, p := range parts {
		if p = strings.Trim(p, "-"); p != "" {
			kept = append(kept, p)
		}
	}
	return shorten(strings.Join(kept, "."), validation.DNS1123SubdomainMaxLength, s)
}

// shorten cuts n to max characters, the last 9 of them '-' and a hash of
// the original name.
func shorten(n string, max int, orig string) string {
	if len(n) <= max {
		return n
	}
	sum := sha256.Sum256([]byte(orig))
	return strings.TrimRight(n[:max-9], "-.") + "-" + hex.EncodeToString(sum[:4])
}

// dataKey makes s a key of a ConfigMap's or Secret's data (letters,
// digits, '-', '_' and '.').
func dataKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	k := b.String()
	if k == "" || k == "." || k == ".." {
		k = "content"
	}
	return shorten(k, validation.DNS1123SubdomainMaxLength, s)
}

// validLabel reports whether k=v is a valid Kubernetes label.
func validLabel(k, v string) bool {
	return len(validation.IsQualifiedName(k)) == 0 && len(validation.IsValidLabelValue(v)) == 0
}

// validAnnotationKey reports whether k may key an annotation.
func validAnnotationKey(k string) bool {
	return len(validation.IsQualifiedName(strings.ToLower(k))) == 0 && len(validation.IsQualifiedName(k)) == 0
}
