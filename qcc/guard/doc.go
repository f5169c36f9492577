// Package guard sits in front of a qcc.Client so that each question is paid
// for once and the QCC key is never pushed towards a ban.
//
// QCC bills every request and suspends keys that send too many failing or
// abnormal ones. Agents repeat themselves, run sub-agents that ask the same
// thing at once, and restart stdio servers for every session. A Guard
// answers the repeats and refuses, locally, what QCC would refuse anyway:
//
//   - a cache of answers keyed by method and normalised arguments (never
//     credentials), in memory and, with Config.CacheFile, in a bbolt file
//     that survives restarts; only successes and no-result searches (201)
//     are kept, never errors;
//   - coalescing: identical concurrent calls share one upstream request;
//   - a token-bucket rate limit on upstream requests;
//   - retries with capped, jittered exponential backoff, only for failures
//     a retry can cure (network, timeouts, HTTP 429 and 5xx, QCC 205);
//   - cooldowns after QCC's throttle, quota and credential codes, so the
//     same refusal is not provoked again;
//   - a daily budget of upstream requests per Beijing calendar day.
//
// A Guard has the two methods of qcc.Client and can replace it:
//
//	client, _ := qcc.New(appKey, secretKey)
//	g, err := guard.New(client, guard.Config{CacheFile: path, MaxCallsPerDay: 500})
//	if err != nil { ... }
//	defer g.Close()
//	res, err := g.SearchCertification(ctx, qcc.SearchParams{SearchKey: "企查查科技有限公司"})
//
// Results say how they were obtained in Cache (CacheHit, CacheMiss or
// CacheCoalesced) while FetchedAt stays the time QCC answered, so a caller
// can judge freshness. WithMaxAge on the context asks for an answer no
// older than its limit, and a limit of 0 for a new one. Refusals made
// without calling QCC are *qcc.Error values with Local set to a sentence
// saying why and until when; cooldowns repeat QCC's own code and kind, the
// rate limit and the budget use qcc.KindLocalLimit. Which codes pause
// which calls, and for how long, is the status table's decision
// (qcc.StatusInfo.Pause), not the guard's. Cooldowns and the budget never
// stop cached answers from being served.
//
// The answer store, the cooldowns and budget, the rate limit and the
// coalescing across processes sit behind small interfaces (AnswerStore,
// StateStore, Limiter, Flights; see seam.go), so that several replicas can
// share them. Without Config.Answers, State, Limiter and Flights, a Guard
// uses its own: memory, the bbolt file, a token bucket.
package guard
