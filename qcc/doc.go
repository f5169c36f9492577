// Package qcc is a client for Qichacha's (QCC, 企查查) certificate API:
// searching a company's certificates and reading one certificate's detail.
// It knows HTTP, request signing and QCC's status codes, and nothing of MCP.
//
// Create a client once and share it; it is safe for concurrent use:
//
//	c, err := qcc.New(appKey, secretKey, qcc.WithTimeout(10*time.Second))
//	if err != nil { ... }
//	res, err := c.SearchCertification(ctx, qcc.SearchParams{SearchKey: "企查查科技有限公司"})
//
// A search that finds nothing is a result with no Items, not an error. Every
// error is a *qcc.Error carrying a Kind, the QCC status code if any, retry
// advice and an Action sentence for an agent or operator. Test the kind with
// errors.Is and read the details with errors.As:
//
//	if errors.Is(err, qcc.KindBilling) { ... tell the operator ... }
//	var e *qcc.Error
//	if errors.As(err, &e) && e.Retry.Retryable { ... retry at e.RetryAt() ... }
//
// No error ever contains the secret key or a request's Token, and URLs in
// errors show the app key masked.
package qcc
