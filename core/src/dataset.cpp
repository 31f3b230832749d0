#include "cachegen/core/dataset.h"

namespace cachegen {

const char* quality_metric_column(QualityMetric metric) {
  switch (metric) {
    case QualityMetric::kAccuracy:
    case QualityMetric::kContains:
      return "accuracy";
    case QualityMetric::kF1:
      return "f1";
    case QualityMetric::kPerplexity:
      return "perplexity";
  }
  return "accuracy";
}

}  // namespace cachegen
