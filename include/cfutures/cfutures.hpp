// cfutures: Python's concurrent.futures for C++20. Everything but MPI.
#pragma once

#include <cfutures/any_future.hpp>
#include <cfutures/as_completed.hpp>
#include <cfutures/call_options.hpp>
#include <cfutures/callback_errors.hpp>
#include <cfutures/coroutine.hpp>
#include <cfutures/errors.hpp>
#include <cfutures/executor.hpp>
#include <cfutures/future.hpp>
#include <cfutures/map_result.hpp>
#include <cfutures/process_pool.hpp>
#include <cfutures/remote_initializer.hpp>
#include <cfutures/start_method.hpp>
#include <cfutures/then.hpp>
#include <cfutures/exception_registry.hpp>
#include <cfutures/thread_pool.hpp>
#include <cfutures/version.hpp>
#include <cfutures/wait.hpp>
#include <cfutures/when_all.hpp>
#include <cfutures/when_any.hpp>
