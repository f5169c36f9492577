// Package sandbox is an in-process stand-in for QCC's certificate API
// (企业证书查询 V2.0: ECICertification/SearchCertification and
// ECICertification/GetCertificationDetailById). The server's --demo mode
// runs on it, and so do tests and benchmarks. It answers as the vendor
// document describes, from a fixed fictional data set, and can be made to
// fail on demand.
//
// A Sandbox is an http.Handler (mount it behind httptest.NewServer) and
// provides an http.RoundTripper (Transport) that serves requests without
// sockets. Both methods are served under any path prefix, so the base URLs
// https://pro.qcc.com/api/yj and https://api.qichacha.com both work.
//
// # Authentication
//
// Checked on every request, in this order, as QCC does:
//
//	key query parameter ≠ AppKey                         → Status 101
//	Timespan header missing, not Unix seconds,
//	  or more than MaxSkew from Now                      → Status 115
//	Token header ≠ qcc.Sign(AppKey, SecretKey, Timespan) → Status 107
//	HTTP method other than GET                           → Status 118
//
// With an empty Config the keys are DemoAppKey and DemoSecretKey.
//
// # Answers
//
// Apart from the triggers and faults below, every answer of either method
// is HTTP 200 with Content-Type application/json; charset=utf-8 and the
// document's envelope: Paging and Result when there are any, then Status as
// a string ("200"), Message (the document's text for the code, e.g.
// 【有效请求】查询成功) and OrderNumber (CERT, the Beijing time, a sequence
// number). Answers other than 200 carry only Status, Message and a null
// OrderNumber.
//
// SearchCertification: searchKey is required (missing or blank → 202) and
// needs 2 characters after trimming (→ 213); pageSize is 1 to 20, default
// 10; pageIndex is 1 or more, default 1; isExactlySame is true or false in
// any case, default true; anything else → 202. An exact search matches the
// company name, a fuzzy one any name containing searchKey; full-width and
// half-width parentheses count as equal. certCategory keeps only
// certificates of that category. Items come company by company in data set
// order, each company's newest StartDate first. No match, or a pageIndex
// past the last page, → 201.
//
// GetCertificationDetailById: certId is required (→ 202), unknown → 201.
// Result is {Id, Data, Schema: null}; Data has all 48 fields of the
// document's example in the document's order (see DetailFields), mostly
// strings, some empty.
//
// # Categories and types
//
// The document names C_9 as a certCategory but lists no others; the
// sandbox uses its own mapping:
//
//	C_1   产品认证         cnca001 强制性产品认证, cnca011 节能产品认证,
//	                       cnca015 电器电子产品有害物质限制使用认证
//	C_5   服务认证         cnca071 商品售后服务评价认证
//	C_9   管理体系认证     cnca027 质量管理体系认证（ISO9000）, cnca028 环境管理体系认证,
//	                       cnca029 职业健康安全管理体系认证, cnca031 能源管理体系认证,
//	                       cnca041 信息安全管理体系认证, cnca042 信息技术服务管理体系认证,
//	                       cnca058 企业知识产权管理体系认证
//	C_13  资质证书         zz001 增值电信业务经营许可证, zz002 建筑业企业资质证书,
//	                       zz003 安全生产许可证, zz004 排污许可证,
//	                       zz005 检验检测机构资质认定证书, zz006 实验室认可证书,
//	                       zz007 安全生产标准化证书
//
// # Demo companies
//
// The data set (data.json) is fictional except for the document's own
// example, and is dated as seen on 2026-11-27:
//
//	企查查科技有限公司               5 certificates, the document's example
//	                                 (17418Q20358R1M, 18119IP6448R0M, ...);
//	                                 one licence with an empty EndDate
//	苏州云帆智能制造股份有限公司     23 certificates (more than one page of 20):
//	                                 management systems, CCC products, licences
//	华信创（北京）检测技术有限公司   6, full-width parentheses; one revoked
//	                                 certificate whose EndDate is null
//	杭州青禾软件技术有限公司         6; one expiring 2027-01-15, one EndDate
//	                                 "2025-06-30" without a time, one detail
//	                                 with numbers for 再认证次数 and 监督次数
//	                                 and a null 变更日期
//	深圳市海澜电子科技有限公司       6, CCC products and expired systems
//	上海明德建设工程有限公司         7, construction licences and systems
//	北京星河启明商贸有限公司         none: an exact search answers 201
//
// # Triggers
//
// After authentication has passed, these values of searchKey (search) or
// certId (detail) make the sandbox misbehave deterministically:
//
//	sandbox-status-NNN       HTTP 200, envelope with QCC Status NNN (any
//	                         integer, also undocumented ones such as 299);
//	                         200 gives an empty success
//	sandbox-http-NNN         HTTP status NNN (200-599) with an HTML body like
//	                         a gateway's, e.g. 502 Bad Gateway
//	sandbox-malformed        HTTP 200, body not valid JSON
//	sandbox-truncated        HTTP 200, Content-Length of a whole answer but
//	                         only its first half sent, then the end
//	sandbox-slow-DURATION    waits DURATION (Go syntax, e.g. 3s or 250ms,
//	                         capped at Config.SlowCap), or until the request's
//	                         context ends, then answers 201
//	sandbox-large            HTTP 200, a valid answer over 5 MiB, streamed
//	                         without Content-Length
//
// FailNext injects the same failures into the next requests of a method
// regardless of their arguments and before authentication; Calls and
// TotalCalls count the requests that reached each method.
package sandbox
