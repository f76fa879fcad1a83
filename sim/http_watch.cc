// Lists (pagination, selectors, tables, partial metadata) and watches
// (resourceVersion, bookmarks, timeouts, 410 Gone) of HttpApi.
#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "sim/errors.h"
#include "sim/json_text.h"
#include "sim/http_api.h"
#include "sim/http_body.h"
#include "sim/internal/http_util.h"
#include "sim/tables/tables.h"

namespace herd::sim {

using http_internal::DryRun;
using http_internal::EventLine;
using http_internal::Negotiate;
using http_internal::Negotiated;
using http_internal::ParseSelection;
using http_internal::PartialMetadata;
using http_internal::QueryTrue;
using http_internal::Render;
using http_internal::Selection;
using http_internal::SuccessStatus;
using http_internal::TableRow;
using http_internal::kJson;
using http_internal::Base64Url;
using Json = nlohmann::json;

// ---- Watch ----

class HttpApi::Watch : public std::enable_shared_from_this<HttpApi::Watch> {
 public:
  Watch(HttpApi& api, uint64_t id, ResourceId r, Selection sel, Negotiated n, std::string include,
        std::shared_ptr<http::Stream> stream)
      : api_(api), id_(id), r_(r), sel_(std::move(sel)), n_(n), include_(std::move(include)),
        stream_(std::move(stream)) {}

  void SetStoreWatch(Store::WatchId w) { store_watch_ = w; }

  void Send(absl::string_view type, const ObjectPtr& obj) {
    if (closed_) return;
    if (n_.render == Render::kTable) {
      Json table = {{"kind", "Table"},
                    {"apiVersion", "meta.k8s.io/" + n_.table_version},
                    {"metadata", {{"resourceVersion", std::to_string(obj->rv)}}},
                    {"rows", Json::array({TableRow(r_, obj, n_, include_, absl::Now())})}};
      if (!sent_columns_) {
        table["columnDefinitions"] = TableColumns(r_);
        sent_columns_ = true;
      } else {
        table["columnDefinitions"] = nullptr;
      }
      Write(EventLine(type, JsonText(table)));
    } else if (n_.render == Render::kMetadata) {
      Write(EventLine(type, JsonText(PartialMetadata(obj->object))));
    } else {
      Write(EventLine(type, obj->FullJson()));
    }
  }

  void OnEvent(const Event& e) {
    if (closed_) return;
    bool now_match = sel_.Matches(e.object->object);
    bool was_match = e.old && sel_.Matches(e.old->object);
    switch (e.type) {
      case EventType::kAdded:
        if (now_match) Send("ADDED", e.object);
        break;
      case EventType::kModified:
        if (now_match && was_match) {
          Send("MODIFIED", e.object);
        } else if (now_match) {
          Send("ADDED", e.object);
        } else if (was_match) {
          // Leaving the selection looks like a deletion to this watcher.
          Send("DELETED", e.object);
        }
        break;
      case EventType::kDeleted:
        if (was_match || now_match) Send("DELETED", e.object);
        break;
    }
  }

  void SendBookmark() {
    if (closed_ || n_.render != Render::kObject) return;
    const ResourceType& rt = Resource(r_);
    Json obj = {{"kind", rt.kind},
                {"apiVersion", rt.ApiVersion()},
                {"metadata", {{"resourceVersion", std::to_string(api_.api_.store().rv())}, {"creationTimestamp", nullptr}}}};
    if (r_ == kPods) {
      obj["spec"] = {{"containers", nullptr}};
      obj["status"] = Json::object();
    }
    Write(EventLine("BOOKMARK", JsonText(obj)));
  }

  void SendError(const absl::Status& st) { Write(EventLine("ERROR", JsonText(StatusObject(st)))); }

  void Write(std::string line) {
    if (!stream_->Write(std::move(line))) return Close();
    if (stream_->Pending() > api_.options_.max_watch_backlog_bytes) {
      log::Warn("closing a watch that does not keep up", {{"resource", Resource(r_).plural}});
      Close();
    }
  }

  void AddTimer(EventLoop::TimerId t) { timers_.push_back(t); }

  void ScheduleBookmarks(absl::Duration every) {
    std::weak_ptr<Watch> weak = shared_from_this();
    bookmark_timer_ = api_.loop_.PostAfter(every, [weak, every] {
      auto s = weak.lock();
      if (!s || s->closed()) return;
      s->SendBookmark();
      s->ScheduleBookmarks(every);
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    if (store_watch_) api_.api_.store().Unwatch(store_watch_);
    for (auto t : timers_) api_.loop_.Cancel(t);
    if (bookmark_timer_) api_.loop_.Cancel(bookmark_timer_);
    stream_->Finish();
    auto self = shared_from_this();  // keep alive while erasing ourselves
    api_.watches_.erase(id_);
  }

  bool closed() const { return closed_; }

 private:
  HttpApi& api_;
  uint64_t id_;
  ResourceId r_;
  Selection sel_;
  Negotiated n_;
  std::string include_;
  std::shared_ptr<http::Stream> stream_;
  Store::WatchId store_watch_ = 0;
  std::vector<EventLoop::TimerId> timers_;
  EventLoop::TimerId bookmark_timer_ = 0;
  bool closed_ = false;
  bool sent_columns_ = false;
};


void HttpApi::ServeList(http::Request& req, http::Responder& res, const Route& route) {
  const ResourceType& rt = *route.rt;
  auto sel = ParseSelection(rt, req);
  if (!sel.ok()) return res.Respond(ErrorResponse(sel.status()));
  Negotiated n = Negotiate(req.headers.Get("Accept"));
  int64_t limit = 0;
  if (const std::string* l = req.Query("limit"); l && !l->empty()) {
    if (!absl::SimpleAtoi(*l, &limit) || limit < 0) limit = 0;
  }
  const Store& store = api_.store();
  uint64_t list_rv = store.rv();
  std::string prefix = route.ns.empty() ? "" : route.ns + "/";
  std::string after;
  if (const std::string* c = req.Query("continue"); c && !c->empty()) {
    std::string decoded;
    Json token;
    if (absl::WebSafeBase64Unescape(*c, &decoded)) token = Json::parse(decoded, nullptr, false);
    if (!token.is_object() || !token.contains("start") || !token["start"].is_string() || !token.contains("rv")) {
      return res.Respond(ErrorResponse(BadRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")));
    }
    std::string start = token["start"].get<std::string>();
    if (!start.empty() && start.back() == '\0') start.pop_back();
    after = prefix + start;
    uint64_t token_rv = token["rv"].is_number() ? token["rv"].get<uint64_t>() : 0;
    if (token_rv < store.OldestResumable(rt.id)) {
      return res.Respond(ErrorResponse(Expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new "
          "list without the continue parameter, or use the continue token in this response to retrieve the "
          "remainder of the results. Continuing with the provided token results in an inconsistent list - objects "
          "that were created, modified, or deleted between the time the first chunk was returned and now may show "
          "up in the list.")));
    }
    list_rv = token_rv;
  }
  std::vector<ObjectPtr> page;
  std::string last_key;
  bool more = false;
  int64_t remaining = 0;
  bool filtered = !sel->labels.Empty() || !sel->fields.Empty();
  store.Scan(rt.id, route.ns, after, [&](const ObjectPtr& o) {
    if (limit > 0 && static_cast<int64_t>(page.size()) >= limit) {
      if (!sel->Matches(o->object)) return true;
      more = true;
      if (filtered) return false;
      ++remaining;
      return true;
    }
    if (!sel->Matches(o->object)) return true;
    page.push_back(o);
    last_key = Store::KeyOf(o->ns(), o->name());
    return true;
  });
  Json meta = {{"resourceVersion", std::to_string(list_rv)}};
  if (more) {
    std::string start = last_key.substr(prefix.size());
    Json token = {{"v", "meta.k8s.io/v1"}, {"rv", list_rv}, {"start", start + std::string(1, '\0')}};
    std::string enc = Base64Url(JsonText(token));
    while (!enc.empty() && enc.back() == '=') enc.pop_back();
    meta["continue"] = enc;
    if (!filtered) meta["remainingItemCount"] = remaining;
  }
  const std::string include = req.Query("includeObject") ? *req.Query("includeObject") : "Metadata";
  if (n.render == Render::kTable) {
    Json rows = Json::array();
    absl::Time now = absl::Now();
    for (const auto& o : page) rows.push_back(TableRow(rt.id, o, n, include, now));
    Json table = {{"kind", "Table"},
                  {"apiVersion", "meta.k8s.io/" + n.table_version},
                  {"metadata", meta},
                  {"columnDefinitions", TableColumns(rt.id)},
                  {"rows", rows}};
    return res.Respond(JsonResponse(200, JsonText(table)));
  }
  std::string body;
  size_t size = 0;
  for (const auto& o : page) size += o->ItemJson().size() + 1;
  body.reserve(size + 256);
  if (n.render == Render::kMetadata) {
    absl::StrAppend(&body, "{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":",
                    JsonText(meta), ",\"items\":[");
  } else {
    absl::StrAppend(&body, "{\"kind\":\"", rt.ListKind(), "\",\"apiVersion\":\"", rt.ApiVersion(),
                    "\",\"metadata\":", JsonText(meta), ",\"items\":[");
  }
  for (size_t i = 0; i < page.size(); ++i) {
    if (i > 0) body.push_back(',');
    if (n.render == Render::kMetadata) {
      body += JsonText(PartialMetadata(page[i]->object));
    } else {
      body += page[i]->ItemJson();
    }
  }
  body += "]}";
  res.Respond(JsonResponse(200, std::move(body)));
}

void HttpApi::ServeWatch(http::Request& req, http::Responder& res, const Route& route) {
  const ResourceType& rt = *route.rt;
  auto sel = ParseSelection(rt, req);
  if (!sel.ok()) return res.Respond(ErrorResponse(sel.status()));
  Negotiated n = Negotiate(req.headers.Get("Accept"));
  std::string rv_text = req.Query("resourceVersion") ? *req.Query("resourceVersion") : "";
  uint64_t from_rv = 0;
  if (!rv_text.empty() && rv_text != "0" && !absl::SimpleAtoi(rv_text, &from_rv)) {
    return res.Respond(ErrorResponse(BadRequest(absl::StrCat("invalid resource version: \"", rv_text, "\""))));
  }
  absl::Duration timeout = absl::Minutes(30);
  if (const std::string* t = req.Query("timeoutSeconds")) {
    int64_t secs;
    if (absl::SimpleAtoi(*t, &secs) && secs > 0) timeout = absl::Seconds(secs);
  }
  bool bookmarks = QueryTrue(req, "allowWatchBookmarks");
  const std::string include = req.Query("includeObject") ? *req.Query("includeObject") : "Metadata";

  auto stream = res.StartStream(200, {{"Content-Type", kJson}, {"Cache-Control", "no-cache, private"}});
  uint64_t id = next_watch_++;
  auto w = std::make_shared<Watch>(*this, id, rt.id, std::move(*sel), n, include, stream);
  watches_.emplace(id, w);
  std::weak_ptr<Watch> weak = w;
  stream->OnClose([this, weak] {
    // OnClose may run on any loop thread; the store lives on ours.
    loop_.Post([weak] {
      if (auto s = weak.lock()) s->Close();
    });
  });

  Store& store = api_.store();
  if (from_rv == 0) {
    // No version: the current state as ADDED events, then changes.
    store.Scan(rt.id, route.ns, "", [&](const ObjectPtr& o) {
      if (w->closed()) return false;
      Event e{EventType::kAdded, rt.id, o, nullptr};
      w->OnEvent(e);
      return true;
    });
  }
  auto watch_id = store.Watch(rt.id, route.ns, from_rv, [weak](const Event& e) {
    if (auto s = weak.lock()) s->OnEvent(e);
  });
  if (!watch_id.ok()) {
    w->SendError(watch_id.status());
    return w->Close();
  }
  w->SetStoreWatch(*watch_id);
  w->AddTimer(loop_.PostAfter(timeout, [weak] {
    if (auto s = weak.lock()) s->Close();
  }));
  if (options_.faults.drop_watches_after > absl::ZeroDuration() && Faulted(req)) {
    // The watch holds its timers: while it lives, so does this HttpApi.
    w->AddTimer(loop_.PostAfter(options_.faults.drop_watches_after, [weak, this] {
      if (auto s = weak.lock()) {
        injected_.dropped_watches++;
        s->Close();
      }
    }));
  }
  if (bookmarks) {
    // A bookmark shortly before the timeout lets the client resume from the
    // newest version; periodic ones keep long watches current.
    absl::Duration before_end = std::max(absl::ZeroDuration(), timeout - absl::Seconds(1));
    w->AddTimer(loop_.PostAfter(before_end, [weak] {
      if (auto s = weak.lock()) s->SendBookmark();
    }));
    w->ScheduleBookmarks(options_.bookmark_interval);
  }
}


void HttpApi::CloseWatches() {
  while (!watches_.empty()) watches_.begin()->second->Close();
  CloseLogFollowers();
}

size_t HttpApi::OpenWatches() const { return watches_.size(); }

}  // namespace herd::sim
