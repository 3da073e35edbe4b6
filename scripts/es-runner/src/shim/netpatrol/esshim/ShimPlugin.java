/*
 * netpatrol test helper: the few REST APIs that a stock Elasticsearch gets from modules that
 * are not published to Maven Central, re-implemented on the server's own public classes so a
 * node built from the Central jars answers them the way a real 8.x node does:
 *
 *   GET|HEAD /                         (module rest-root)    node, cluster and version info
 *   GET      /_data_stream[/{name}]    (module data-streams) via GetDataStreamAction
 *   PUT      /_data_stream/{name}      (module data-streams) via CreateDataStreamAction
 *   DELETE   /_data_stream/{name}      (module data-streams) via DeleteDataStreamAction
 *   token filters cjk_width, cjk_bigram   (module analysis-common) on Lucene's own filters
 *
 * The request/response classes and the cluster-state services are the server's; only the
 * transport actions and REST routes are written here, for a single node.
 */
package netpatrol.esshim;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.cjk.CJKBigramFilter;
import org.apache.lucene.analysis.cjk.CJKWidthFilter;
import org.apache.lucene.util.SetOnce;
import org.elasticsearch.Build;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.ActionRequest;
import org.elasticsearch.action.ActionResponse;
import org.elasticsearch.action.datastreams.CreateDataStreamAction;
import org.elasticsearch.action.datastreams.DeleteDataStreamAction;
import org.elasticsearch.action.datastreams.GetDataStreamAction;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.IndicesOptions;
import org.elasticsearch.action.support.master.AcknowledgedResponse;
import org.elasticsearch.action.support.master.AcknowledgedTransportMasterNodeAction;
import org.elasticsearch.action.support.master.TransportMasterNodeAction;
import org.elasticsearch.action.support.master.TransportMasterNodeReadAction;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.AckedClusterStateUpdateTask;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.block.ClusterBlockException;
import org.elasticsearch.cluster.block.ClusterBlockLevel;
import org.elasticsearch.cluster.health.ClusterHealthStatus;
import org.elasticsearch.cluster.health.ClusterStateHealth;
import org.elasticsearch.cluster.metadata.DataStream;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.metadata.MetadataCreateDataStreamService;
import org.elasticsearch.cluster.metadata.MetadataDataStreamsService;
import org.elasticsearch.cluster.metadata.MetadataIndexTemplateService;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.Priority;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.regex.Regex;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.index.Index;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.index.IndexNotFoundException;
import org.elasticsearch.index.IndexVersion;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.rest.RestUtils;
import org.elasticsearch.rest.action.RestToXContentListener;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.transport.TransportService;
import org.elasticsearch.xcontent.XContentBuilder;

public final class ShimPlugin extends Plugin implements ActionPlugin, AnalysisPlugin {

    private final SetOnce<ClusterService> clusterService = new SetOnce<>();

    @Override
    public Collection<?> createComponents(PluginServices services) {
        clusterService.set(services.clusterService());
        return List.of();
    }

    @Override
    public Collection<ActionHandler<? extends ActionRequest, ? extends ActionResponse>> getActions() {
        return List.of(
            new ActionHandler<>(CreateDataStreamAction.INSTANCE, CreateDataStream.class),
            new ActionHandler<>(DeleteDataStreamAction.INSTANCE, DeleteDataStream.class),
            new ActionHandler<>(GetDataStreamAction.INSTANCE, GetDataStream.class)
        );
    }

    @Override
    public Collection<RestHandler> getRestHandlers(
        Settings settings,
        NamedWriteableRegistry namedWriteableRegistry,
        RestController restController,
        ClusterSettings clusterSettings,
        IndexScopedSettings indexScopedSettings,
        SettingsFilter settingsFilter,
        IndexNameExpressionResolver indexNameExpressionResolver,
        Supplier<DiscoveryNodes> nodesInCluster,
        Predicate<NodeFeature> clusterSupportsFeature
    ) {
        return List.of(new RestRoot(clusterService::get), new RestGetDataStream(), new RestCreateDataStream(), new RestDeleteDataStream());
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        // ES_JAVA_OPTS=-Dnetpatrol.shim.cjk=false gives a node without them, like one without analysis-common.
        if ("false".equals(System.getProperty("netpatrol.shim.cjk"))) {
            return Map.of();
        }
        return Map.of(
            "cjk_width", (indexSettings, env, name, settings) -> new CjkWidth(name, settings),
            "cjk_bigram", (indexSettings, env, name, settings) -> new CjkBigram(name, settings)
        );
    }

    /** Folds full-width ASCII and half-width katakana, as Elasticsearch's cjk_width. */
    static final class CjkWidth extends AbstractTokenFilterFactory implements NormalizingTokenFilterFactory {
        CjkWidth(String name, Settings settings) {
            super(name, settings);
        }

        @Override
        public TokenStream create(TokenStream tokenStream) {
            return new CJKWidthFilter(tokenStream);
        }
    }

    /** Bigrams of CJK characters, as Elasticsearch's cjk_bigram (settings ignored_scripts, output_unigrams). */
    static final class CjkBigram extends AbstractTokenFilterFactory {
        private final int flags;
        private final boolean outputUnigrams;

        CjkBigram(String name, Settings settings) {
            super(name, settings);
            int f = CJKBigramFilter.HAN | CJKBigramFilter.HIRAGANA | CJKBigramFilter.KATAKANA | CJKBigramFilter.HANGUL;
            for (String script : settings.getAsList("ignored_scripts")) {
                switch (script) {
                    case "han" -> f &= ~CJKBigramFilter.HAN;
                    case "hiragana" -> f &= ~CJKBigramFilter.HIRAGANA;
                    case "katakana" -> f &= ~CJKBigramFilter.KATAKANA;
                    case "hangul" -> f &= ~CJKBigramFilter.HANGUL;
                    default -> throw new IllegalArgumentException("unknown script [" + script + "] in ignored_scripts of [" + name + "]");
                }
            }
            this.flags = f;
            this.outputUnigrams = settings.getAsBoolean("output_unigrams", false);
        }

        @Override
        public TokenStream create(TokenStream tokenStream) {
            return new CJKBigramFilter(tokenStream, flags, outputUnigrams);
        }
    }

    /** Names of the data streams that {@code expressions} select; a missing concrete name is a 404, as in Elasticsearch. */
    static List<String> resolve(ClusterState state, String[] expressions, IndicesOptions options) {
        Map<String, DataStream> all = state.metadata().dataStreams();
        boolean hidden = options != null && options.expandWildcardsHidden();
        Set<String> out = new LinkedHashSet<>();
        if (expressions == null || expressions.length == 0 || (expressions.length == 1 && "_all".equals(expressions[0]))) {
            expressions = new String[] { "*" };
        }
        for (String expr : expressions) {
            if (Regex.isSimpleMatchPattern(expr)) {
                for (DataStream ds : all.values()) {
                    boolean visible = hidden || (ds.isHidden() == false && (ds.getName().startsWith(".") == false || expr.startsWith(".")));
                    if (visible && Regex.simpleMatch(expr, ds.getName())) {
                        out.add(ds.getName());
                    }
                }
            } else if (all.containsKey(expr)) {
                out.add(expr);
            } else {
                throw new IndexNotFoundException(expr);
            }
        }
        return new ArrayList<>(out);
    }

    // ---------------------------------------------------------------- transport actions

    public static final class CreateDataStream extends AcknowledgedTransportMasterNodeAction<CreateDataStreamAction.Request> {
        private final MetadataCreateDataStreamService service;

        @Inject
        public CreateDataStream(
            TransportService transportService,
            ClusterService clusterService,
            ThreadPool threadPool,
            ActionFilters actionFilters,
            MetadataCreateDataStreamService service
        ) {
            super(
                CreateDataStreamAction.NAME,
                transportService,
                clusterService,
                threadPool,
                actionFilters,
                CreateDataStreamAction.Request::new,
                EsExecutors.DIRECT_EXECUTOR_SERVICE
            );
            this.service = service;
        }

        @Override
        protected void masterOperation(
            Task task,
            CreateDataStreamAction.Request request,
            ClusterState state,
            ActionListener<AcknowledgedResponse> listener
        ) {
            service.createDataStream(
                new MetadataCreateDataStreamService.CreateDataStreamClusterStateUpdateRequest(
                    request.getName(),
                    request.getStartTime(),
                    null,
                    request.masterNodeTimeout(),
                    request.ackTimeout(),
                    true
                ),
                listener
            );
        }

        @Override
        protected ClusterBlockException checkBlock(CreateDataStreamAction.Request request, ClusterState state) {
            return state.blocks().globalBlockedException(ClusterBlockLevel.METADATA_WRITE);
        }
    }

    public static final class DeleteDataStream extends TransportMasterNodeAction<DeleteDataStreamAction.Request, AcknowledgedResponse> {
        private final Settings settings;

        @Inject
        public DeleteDataStream(
            TransportService transportService,
            ClusterService clusterService,
            ThreadPool threadPool,
            ActionFilters actionFilters
        ) {
            super(
                DeleteDataStreamAction.NAME,
                transportService,
                clusterService,
                threadPool,
                actionFilters,
                DeleteDataStreamAction.Request::new,
                AcknowledgedResponse::readFrom,
                EsExecutors.DIRECT_EXECUTOR_SERVICE
            );
            this.settings = clusterService.getSettings();
        }

        @Override
        protected void masterOperation(
            Task task,
            DeleteDataStreamAction.Request request,
            ClusterState state,
            ActionListener<AcknowledgedResponse> listener
        ) {
            // Resolve first so a missing name fails the request instead of the cluster-state task.
            resolve(state, request.getNames(), request.indicesOptions());
            clusterService.submitUnbatchedStateUpdateTask(
                "delete-data-stream " + String.join(",", request.getNames()),
                new AckedClusterStateUpdateTask(Priority.HIGH, request.masterNodeTimeout(), TimeValue.timeValueSeconds(30), listener) {
                    @Override
                    public ClusterState execute(ClusterState current) {
                        List<String> names = resolve(current, request.getNames(), request.indicesOptions());
                        if (names.isEmpty()) {
                            return current;
                        }
                        Set<DataStream> streams = new LinkedHashSet<>();
                        for (String name : names) {
                            streams.add(current.metadata().dataStreams().get(name));
                        }
                        return MetadataDataStreamsService.deleteDataStreams(current, streams, settings);
                    }
                }
            );
        }

        @Override
        protected ClusterBlockException checkBlock(DeleteDataStreamAction.Request request, ClusterState state) {
            return state.blocks().globalBlockedException(ClusterBlockLevel.METADATA_WRITE);
        }
    }

    public static final class GetDataStream extends TransportMasterNodeReadAction<GetDataStreamAction.Request, GetDataStreamAction.Response> {

        @Inject
        public GetDataStream(TransportService transportService, ClusterService clusterService, ThreadPool threadPool, ActionFilters actionFilters) {
            super(
                GetDataStreamAction.NAME,
                transportService,
                clusterService,
                threadPool,
                actionFilters,
                GetDataStreamAction.Request::new,
                in -> {
                    throw new UnsupportedOperationException("single-node helper: responses are never read from the wire");
                },
                threadPool.executor(ThreadPool.Names.MANAGEMENT)
            );
        }

        @Override
        protected void masterOperation(
            Task task,
            GetDataStreamAction.Request request,
            ClusterState state,
            ActionListener<GetDataStreamAction.Response> listener
        ) {
            ActionListener.completeWith(listener, () -> {
                List<GetDataStreamAction.Response.DataStreamInfo> infos = new ArrayList<>();
                for (String name : resolve(state, request.getNames(), request.indicesOptions())) {
                    DataStream ds = state.metadata().dataStreams().get(name);
                    String[] backing = ds.getIndices().stream().map(Index::getName).toArray(String[]::new);
                    ClusterHealthStatus status = new ClusterStateHealth(state, backing).getStatus();
                    String template = MetadataIndexTemplateService.findV2Template(state.metadata(), ds.getName(), ds.isHidden());
                    infos.add(
                        new GetDataStreamAction.Response.DataStreamInfo(
                            ds,
                            ds.isFailureStoreExplicitlyEnabled(),
                            status,
                            template,
                            null,
                            null,
                            Map.of(),
                            false,
                            null,
                            null
                        )
                    );
                }
                return new GetDataStreamAction.Response(infos);
            });
        }

        @Override
        protected ClusterBlockException checkBlock(GetDataStreamAction.Request request, ClusterState state) {
            return state.blocks().globalBlockedException(ClusterBlockLevel.METADATA_READ);
        }
    }

    // ---------------------------------------------------------------- REST handlers

    static final class RestRoot extends BaseRestHandler {
        private final Supplier<ClusterService> clusterService;

        RestRoot(Supplier<ClusterService> clusterService) {
            this.clusterService = clusterService;
        }

        @Override
        public String getName() {
            return "netpatrol_main_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            return channel -> {
                ClusterService cs = clusterService.get();
                ClusterState state = cs.state();
                Build build = Build.current();
                XContentBuilder b = channel.newBuilder();
                b.startObject();
                b.field("name", cs.localNode().getName());
                b.field("cluster_name", cs.getClusterName().value());
                b.field("cluster_uuid", state.metadata().clusterUUID());
                b.startObject("version");
                b.field("number", build.qualifiedVersion());
                b.field("build_flavor", build.flavor());
                b.field("build_type", build.type().displayName());
                b.field("build_hash", build.hash());
                b.field("build_date", build.date());
                b.field("build_snapshot", build.isSnapshot());
                b.field("lucene_version", IndexVersion.current().luceneVersion().toString());
                b.field("minimum_wire_compatibility_version", build.minWireCompatVersion());
                b.field("minimum_index_compatibility_version", build.minIndexCompatVersion());
                b.endObject();
                b.field("tagline", "You Know, for Search");
                b.endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, b));
            };
        }
    }

    static final class RestGetDataStream extends BaseRestHandler {
        @Override
        public String getName() {
            return "netpatrol_get_data_streams_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/_data_stream"), new Route(RestRequest.Method.GET, "/_data_stream/{name}"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            GetDataStreamAction.Request req = new GetDataStreamAction.Request(
                RestUtils.getMasterNodeTimeout(request),
                Strings.splitStringByCommaToArray(request.param("name"))
            );
            req.indicesOptions(IndicesOptions.fromRequest(request, req.indicesOptions()));
            request.paramAsBoolean("include_defaults", false); // accepted, no effect here
            request.paramAsBoolean("verbose", false); // accepted, no effect here
            return channel -> client.execute(GetDataStreamAction.INSTANCE, req, new RestToXContentListener<>(channel));
        }
    }

    static final class RestCreateDataStream extends BaseRestHandler {
        @Override
        public String getName() {
            return "netpatrol_create_data_stream_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.PUT, "/_data_stream/{name}"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            CreateDataStreamAction.Request req = new CreateDataStreamAction.Request(
                RestUtils.getMasterNodeTimeout(request),
                RestUtils.getAckTimeout(request),
                request.param("name")
            );
            return channel -> client.execute(CreateDataStreamAction.INSTANCE, req, new RestToXContentListener<>(channel));
        }
    }

    static final class RestDeleteDataStream extends BaseRestHandler {
        @Override
        public String getName() {
            return "netpatrol_delete_data_stream_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.DELETE, "/_data_stream/{name}"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            DeleteDataStreamAction.Request req = new DeleteDataStreamAction.Request(
                RestUtils.getMasterNodeTimeout(request),
                Strings.splitStringByCommaToArray(request.param("name"))
            );
            req.indicesOptions(IndicesOptions.fromRequest(request, req.indicesOptions()));
            return channel -> client.execute(DeleteDataStreamAction.INSTANCE, req, new RestToXContentListener<>(channel));
        }
    }
}
