#include "adapters/kafka/producer.h"
