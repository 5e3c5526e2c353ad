"""FAB's security API (JWT login at /api/v1/security/login): a missing provider is a 400, and an
account that must still change its first password gets no token."""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import safe
from flask_appbuilder.security.api import SecurityApi as FabSecurityApi
from flask_appbuilder.views import expose


class SecurityApi(FabSecurityApi):
    """Same class name as FAB's, so the endpoint stays `SecurityApi.login`."""

    @expose("/login", methods=["POST"])
    @safe
    def login(self):
        """Login endpoint for the API returns a JWT and optionally a refresh token
        ---
        post:
          description: >-
            Authenticate and get a JWT access and refresh token
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [username, password, provider]
                  properties:
                    username:
                      description: The username for authentication
                      example: admin
                      type: string
                    password:
                      description: The password for authentication
                      example: complex-password
                      type: string
                    provider:
                      description: The authentication provider (this application uses db)
                      example: db
                      type: string
                      enum:
                      - db
                    refresh:
                      description: If true a refresh token is provided also
                      example: true
                      type: boolean
          responses:
            200:
              description: Authentication Successful
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      access_token:
                        type: string
                      refresh_token:
                        type: string
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            500:
              $ref: '#/components/responses/500'
        """
        # FAB's schema leaves `provider` optional but its login reads payload["provider"]: a
        # KeyError, answered as a 500.
        body = request.get_json(silent=True) if request.is_json else None
        if isinstance(body, dict) and "provider" not in body:
            return self.response_400(message={"provider": ['缺少认证方式 provider，本系统请填写 "db"']})
        response = super().login()
        if response.status_code == 200:
            # The web pages send such a user to the password form (app/security/accounts.py);
            # a token would let it use the API with the published initial password.
            user = self.appbuilder.sm.find_user(username=body["username"])
            if user is not None and user.must_change_password:
                return self.response(403, message="首次登录须先在网页上修改初始密码，之后才能使用接口")
        return response
