#include "server/herdd/demo.h"

#include <string>

#include "server/kube/errors.h"

namespace herd::herdd {
namespace {

using kube::Json;

Json PodTemplate(const std::string& app, const std::string& image) {
  return {{"metadata", {{"labels", {{"app", app}}}}},
          {"spec",
           {{"terminationGracePeriodSeconds", 5},
            {"containers",
             Json::array({{{"name", app},
                           {"image", image},
                           {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}}}}}})}}}};
}

Json Deployment(const std::string& ns, const std::string& name, const std::string& image, int replicas) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", name}}}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template", PodTemplate(name, image)}}}};
}

absl::Status CreateIfMissing(kube::KubeClient& kube, const kube::Resource& r, const std::string& ns, Json obj) {
  auto created = kube.Create(r, ns, obj);
  if (created.ok() || kube::IsAlreadyExists(created.status())) return absl::OkStatus();
  return created.status();
}

}  // namespace

absl::Status CreateDemoWorkloads(kube::KubeClient& kube) {
  for (const char* ns : {"shop", "batch"}) {
    if (auto st = CreateIfMissing(kube, kube::kNamespaces, "", {{"metadata", {{"name", ns}}}}); !st.ok()) return st;
  }
  struct Item {
    const kube::Resource* r;
    std::string ns;
    Json obj;
  };
  std::vector<Item> items = {
      {&kube::kDeployments, "shop", Deployment("shop", "web", "shop/web:1.0", 6)},
      {&kube::kDeployments, "shop", Deployment("shop", "api", "shop/api:1.0", 4)},
      {&kube::kDeployments, "shop", Deployment("shop", "worker", "shop/worker:1.0", 3)},
      {&kube::kPodDisruptionBudgets, "shop",
       {{"apiVersion", "policy/v1"},
        {"kind", "PodDisruptionBudget"},
        {"metadata", {{"name", "web"}, {"namespace", "shop"}}},
        {"spec", {{"minAvailable", 5}, {"selector", {{"matchLabels", {{"app", "web"}}}}}}}}},
      {&kube::kHorizontalPodAutoscalers, "shop",
       {{"apiVersion", "autoscaling/v2"},
        {"kind", "HorizontalPodAutoscaler"},
        {"metadata", {{"name", "api"}, {"namespace", "shop"}}},
        {"spec",
         {{"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "api"}}},
          {"minReplicas", 2},
          {"maxReplicas", 10},
          {"metrics",
           Json::array({{{"type", "Resource"},
                         {"resource", {{"name", "cpu"}, {"target", {{"type", "Utilization"}, {"averageUtilization", 70}}}}}}})}}}}},
      {&kube::kStatefulSets, "batch",
       {{"apiVersion", "apps/v1"},
        {"kind", "StatefulSet"},
        {"metadata", {{"name", "queue"}, {"namespace", "batch"}, {"labels", {{"app", "queue"}}}}},
        {"spec",
         {{"replicas", 3},
          {"serviceName", "queue"},
          {"selector", {{"matchLabels", {{"app", "queue"}}}}},
          {"template", PodTemplate("queue", "batch/queue:1.0")}}}}},
      {&kube::kCronJobs, "batch",
       {{"apiVersion", "batch/v1"},
        {"kind", "CronJob"},
        {"metadata", {{"name", "report"}, {"namespace", "batch"}}},
        {"spec",
         {{"schedule", "*/5 * * * *"},
          {"jobTemplate",
           {{"spec",
             {{"template",
               {{"spec",
                 {{"restartPolicy", "OnFailure"},
                  {"containers", Json::array({{{"name", "report"}, {"image", "batch/report:1.0"}}})}}}}}}}}}}}}},
  };
  for (auto& item : items) {
    if (auto st = CreateIfMissing(kube, *item.r, item.ns, item.obj); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace herd::herdd
